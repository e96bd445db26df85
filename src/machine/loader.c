/* loader.c — loads a Linux arm64 Image and initrd into guest RAM and picks
 * the device tree's place (Documentation/arch/arm64/booting.rst). Runs on
 * the VM-building thread before the vCPUs start; no shared state. Every
 * failure names the file and says what to do about it. */
#include "loader.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bulk_read.h"
#include "base/le.h"

#define HDR_SIZE 64
#define HDR_TEXT_OFFSET 8
#define HDR_IMAGE_SIZE 16
#define HDR_FLAGS 24
#define HDR_MAGIC 56
#define HDR_PE_OFFSET 60        /* EFI-stub Images: where the PE header is */
#define ARM64_MAGIC 0x644d5241u /* "ARM\x64" */
#define FLAG_BE (1ull << 0)
/* Kernels before 3.17 leave image_size 0 and expect this text_offset. */
#define LEGACY_TEXT_OFFSET 0x80000ull

#define MIB ((uint64_t)1 << 20)

static uint64_t align_up(uint64_t v, uint64_t a) {
  return (v + a - 1) & ~(a - 1);
}

static uint64_t mib_up(uint64_t bytes) { return (bytes + MIB - 1) / MIB; }

/* The kernel and initrd are read in pieces, all at once
 * (base/bulk_read.h). Reading a file into fresh guest RAM is dominated by
 * the host kernel's page faults, huge-page zeroing and copying, which then
 * run on every CPU (in bench/kvm_boot.sh's nested host, 2 CPUs, the 33 MB
 * Image and initrd took 0.65 s against 1.69 s on one thread: medians of 6
 * interleaved runs). */

/* Reads the kernel (and initrd, ifd >= 0) into guest RAM. Returns 0, or a
 * negative errno with *bad_fd the file that failed. */
static int load_files(int kfd, uint8_t *kdst, uint64_t klen, int ifd,
                      uint8_t *idst, uint64_t ilen, int *bad_fd) {
  uint64_t total = vmk_read_piece_count(klen) + vmk_read_piece_count(ilen);
  struct vmk_read_piece *pieces = calloc(total ? total : 1, sizeof(*pieces));
  *bad_fd = kfd;
  if (!pieces)
    return -ENOMEM;
  unsigned n = vmk_read_pieces(pieces, 0, kfd, kdst, klen, 0);
  if (ifd >= 0)
    n = vmk_read_pieces(pieces, n, ifd, idst, ilen, 0);
  unsigned bad = 0;
  int rc = vmk_bulk_read(pieces, n, true, &bad, NULL);
  if (rc)
    *bad_fd = pieces[bad].fd;
  free(pieces);
  return rc;
}

static int open_file(const char *what, const char *path, int *fd,
                     uint64_t *size, vmk_error *err) {
  /* O_NONBLOCK: a FIFO must not block the open; it is refused below. */
  *fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (*fd < 0)
    return vmk_err(err, -errno, "cannot open the %s '%s': %s; check the path",
                   what, path, strerror(errno));
  struct stat st;
  if (fstat(*fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    close(*fd);
    *fd = -1;
    return vmk_err(err, -EINVAL,
                   "the %s '%s' is not a regular file; give "
                   "the path of the file itself",
                   what, path);
  }
  *size = (uint64_t)st.st_size;
  return 0;
}

/* Recognizes what a wrong kernel file is, so the error can say what to do. */
static int bad_format(int fd, const char *path, const uint8_t *h, size_t n,
                      vmk_error *err) {
  if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b)
    return vmk_err(err, -EINVAL,
                   "the kernel '%s' is gzip-compressed (a vmlinuz); "
                   "decompress it first, e.g. 'zcat %s > Image', and pass "
                   "the Image",
                   path, path);
  if (n >= 8 && h[0] == 'M' && h[1] == 'Z' && memcmp(h + 4, "zimg", 4) == 0)
    return vmk_err(err, -EINVAL,
                   "the kernel '%s' is a compressed EFI zboot image; pass "
                   "the uncompressed arch/arm64/boot/Image instead",
                   path);
  if (n >= 4 && memcmp(h, "\177ELF", 4) == 0)
    return vmk_err(err, -EINVAL,
                   "the kernel '%s' is an ELF file (a vmlinux); pass the "
                   "arm64 Image (arch/arm64/boot/Image) instead",
                   path);
  uint8_t hdrs[4];
  if (vmk_read_full(fd, hdrs, 4, 0x202) == 0 && memcmp(hdrs, "HdrS", 4) == 0)
    return vmk_err(err, -EINVAL,
                   "the kernel '%s' is an x86 bzImage; vmkit boots arm64 "
                   "kernels, pass an arm64 Image",
                   path);
  if (n < HDR_SIZE)
    return vmk_err(err, -EINVAL,
                   "the kernel '%s' is only %zu bytes, too short for an "
                   "arm64 Image header; the file is truncated or not a "
                   "kernel",
                   path, n);
  return vmk_err(err, -EINVAL,
                 "the kernel '%s' is not a Linux arm64 Image (no \"ARM\\x64\" "
                 "magic at byte 56); pass an uncompressed arm64 Image such "
                 "as arch/arm64/boot/Image",
                 path);
}

/* EFI-stub Images (all distribution kernels) carry a PE header whose
 * sections say how long the file must be: a cheap, exact truncation check.
 * Returns the expected length, or 0 when the Image has no usable PE header
 * (then only the 64-byte header can be checked). */
static uint64_t pe_expected_size(int fd, const uint8_t *h, uint64_t fsize) {
  uint32_t pe = vmk_le32(h + HDR_PE_OFFSET);
  uint8_t coff[24];
  if (pe == 0)
    return 0;
  if ((uint64_t)pe + sizeof(coff) > fsize)
    return (uint64_t)pe + sizeof(coff); /* the header itself is cut off */
  if (vmk_read_full(fd, coff, sizeof(coff), pe) || memcmp(coff, "PE\0\0", 4))
    return 0;
  unsigned nsec = vmk_le16(coff + 6);
  uint64_t sec = (uint64_t)pe + sizeof(coff) + vmk_le16(coff + 20);
  uint64_t need = sec + 40ull * nsec;
  for (unsigned i = 0; i < nsec && i < 96 && sec + 40ull * (i + 1) <= fsize;
       i++) {
    uint8_t sh[40];
    if (vmk_read_full(fd, sh, sizeof(sh), sec + 40ull * i))
      return 0;
    uint64_t end = (uint64_t)vmk_le32(sh + 20) + vmk_le32(sh + 16);
    if (end > need)
      need = end;
  }
  return need;
}

int vmk_load_linux(const struct vmk_guest_mem *gm, const char *kernel_path,
                   const char *initrd_path, struct vmk_boot_layout *out,
                   vmk_error *err) {
  int kfd = -1, ifd = -1, rc;
  uint64_t ksize = 0, isize = 0;
  memset(out, 0, sizeof(*out));

  if (!kernel_path)
    return vmk_err(err, -EINVAL, "no kernel was given; pass a kernel Image");
  rc = open_file("kernel", kernel_path, &kfd, &ksize, err);
  if (rc)
    return rc;

  uint8_t h[HDR_SIZE];
  size_t hn = ksize < HDR_SIZE ? (size_t)ksize : HDR_SIZE;
  rc = vmk_read_full(kfd, h, hn, 0);
  if (rc) {
    rc = vmk_err(err, rc, "cannot read the kernel '%s': %s", kernel_path,
                 strerror(-rc));
    goto out;
  }
  if (hn < HDR_SIZE || vmk_le32(h + HDR_MAGIC) != ARM64_MAGIC) {
    rc = bad_format(kfd, kernel_path, h, hn, err);
    goto out;
  }

  uint64_t pe_need = pe_expected_size(kfd, h, ksize);
  if (pe_need > ksize) {
    rc = vmk_err(err, -EINVAL,
                 "the kernel '%s' is truncated: its headers describe %" PRIu64
                 " bytes but the file has %" PRIu64
                 "; copy or download it again",
                 kernel_path, pe_need, ksize);
    goto out;
  }

  uint64_t text_offset = vmk_le64(h + HDR_TEXT_OFFSET);
  uint64_t image_size = vmk_le64(h + HDR_IMAGE_SIZE);
  uint64_t flags = vmk_le64(h + HDR_FLAGS);
  if (image_size == 0) {
    text_offset = LEGACY_TEXT_OFFSET;
    image_size = ksize;
  }
  if (flags & FLAG_BE) {
    rc = vmk_err(err, -EINVAL,
                 "the kernel '%s' is built big-endian; vmkit runs "
                 "little-endian arm64 kernels, rebuild without "
                 "CONFIG_CPU_BIG_ENDIAN",
                 kernel_path);
    goto out;
  }
  if (text_offset >= VMK_KERNEL_ALIGN || (text_offset & 0xfff)) {
    rc = vmk_err(err, -EINVAL,
                 "the kernel '%s' asks for text_offset 0x%" PRIx64
                 ", which is not a 4 KiB multiple below 2 MiB; the Image "
                 "header is corrupt",
                 kernel_path, text_offset);
    goto out;
  }
  if (image_size < ksize)
    image_size = ksize; /* never place anything over the file's bytes */

  uint64_t ram_end = gm->base + gm->size;
  uint64_t kbase = align_up(gm->base, VMK_KERNEL_ALIGN);
  uint64_t kgpa = kbase + text_offset;
  uint64_t kend = kgpa + image_size;
  uint64_t igpa = 0, iend = kend;

  if (initrd_path) {
    rc = open_file("initrd", initrd_path, &ifd, &isize, err);
    if (rc)
      goto out;
    if (isize == 0) {
      rc = vmk_err(err, -EINVAL,
                   "the initrd '%s' is empty; pass a cpio archive or leave "
                   "the initrd out",
                   initrd_path);
      goto out;
    }
    igpa = align_up(kend, VMK_KERNEL_ALIGN);
    iend = igpa + isize;
  }

  /* Sizes come from files and headers: anything near 2^64 is not a kernel
   * we can hold, and the sum below must not wrap. */
  const uint64_t limit = 1ull << 48;
  if (image_size > limit || isize > limit || gm->size > limit) {
    rc = vmk_err(err, -EFBIG,
                 "the kernel '%s' or its initrd is far larger than any "
                 "guest memory; check the files",
                 kernel_path);
    goto out;
  }

  /* The device tree takes the top 2 MiB-aligned slot of RAM. */
  uint64_t fdt_gpa = 0;
  if (ram_end >= gm->base + VMK_FDT_MAX_SIZE)
    fdt_gpa = (ram_end - VMK_FDT_MAX_SIZE) & ~(VMK_KERNEL_ALIGN - 1);
  /* The panic log goes just below it, above the kernel and initrd. */
  if (ram_end < gm->base + VMK_FDT_MAX_SIZE || fdt_gpa < gm->base ||
      fdt_gpa - gm->base < VMK_RAMOOPS_SIZE ||
      fdt_gpa - VMK_RAMOOPS_SIZE < iend) {
    uint64_t need =
        align_up(iend - gm->base + VMK_RAMOOPS_SIZE, VMK_KERNEL_ALIGN) +
        VMK_FDT_MAX_SIZE;
    if (initrd_path)
      rc = vmk_err(err, -ENOMEM,
                   "the kernel '%s' (%" PRIu64 " MiB) and initrd '%s' (%" PRIu64
                   " MiB) need at least %" PRIu64
                   " MiB of guest memory, the VM has %" PRIu64
                   " MiB; give it more memory",
                   kernel_path, mib_up(image_size), initrd_path, mib_up(isize),
                   mib_up(need), gm->size / MIB);
    else
      rc = vmk_err(err, -ENOMEM,
                   "the kernel '%s' (%" PRIu64 " MiB) needs at least %" PRIu64
                   " MiB of guest memory, the VM has %" PRIu64
                   " MiB; give it more memory",
                   kernel_path, mib_up(image_size), mib_up(need),
                   gm->size / MIB);
    goto out;
  }

  uint8_t *kdst = vmk_gm_ptr(gm, kgpa, image_size);
  if (!kdst) { /* unreachable after the checks above; kept as a guard */
    rc = vmk_err(err, -ENOMEM, "the kernel does not fit in guest memory");
    goto out;
  }
  uint8_t *idst = NULL;
  if (ifd >= 0 && !(idst = vmk_gm_ptr(gm, igpa, isize))) {
    rc = vmk_err(err, -ENOMEM, "the initrd does not fit in guest memory");
    goto out;
  }
  /* Read, not mapped: a MAP_PRIVATE|MAP_FIXED mapping of the file over
   * guest RAM skips this copy (0.44 s -> 7 ms in bench/kvm_boot.sh's nested
   * host) but leaves the kernel in 4 KiB pages instead of the RAM's huge
   * pages, and the guest's boot took 2-5x longer for the stage-2 faults;
   * it would also let a later change to the file show through. */
  int bad_fd = -1;
  rc = load_files(kfd, kdst, ksize, ifd, idst, isize, &bad_fd);
  if (rc) {
    bool k = bad_fd == kfd;
    rc = vmk_err(err, rc,
                 "cannot read the %s '%s': %s; was it changed while "
                 "vmkit was reading it?",
                 k ? "kernel" : "initrd", k ? kernel_path : initrd_path,
                 rc == -EIO ? "file ended early" : strerror(-rc));
    goto out;
  }
  memset(kdst + ksize, 0, image_size - ksize); /* BSS of a reused VM */

  /* A record left from an earlier boot in this RAM would be reported as
   * this boot's panic. */
  uint8_t *log = vmk_gm_ptr(gm, fdt_gpa - VMK_RAMOOPS_SIZE, VMK_RAMOOPS_SIZE);
  if (log)
    memset(log, 0, VMK_RAMOOPS_SIZE);

  out->kernel_gpa = kgpa;
  out->kernel_size = image_size;
  out->initrd_gpa = igpa;
  out->initrd_size = isize;
  out->fdt_gpa = fdt_gpa;
  out->fdt_max = VMK_FDT_MAX_SIZE;
  out->ramoops_gpa = fdt_gpa - VMK_RAMOOPS_SIZE;
  out->ramoops_size = VMK_RAMOOPS_SIZE;
  out->entry = kgpa;
  rc = 0;
out:
  if (kfd >= 0)
    close(kfd);
  if (ifd >= 0)
    close(ifd);
  return rc;
}
