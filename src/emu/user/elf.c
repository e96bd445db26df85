/* elf.c — loading a static arm64 Linux ELF (ET_EXEC or static-pie ET_DYN)
 * into the runner's guest address space and building the initial stack
 * (argc, argv, envp, auxv) the way the Linux kernel does for arm64.
 * The file is untrusted: every header field is range-checked before use.
 *
 * Single-threaded (the runner's thread).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "emu/user/user.h"

#define MAX_PHNUM 64
#define MAX_ARGS_BYTES (2u << 20)
#define HWCAP_FP (1u << 0)
#define HWCAP_ASIMD (1u << 1)

struct image {
  Elf64_Ehdr eh;
  Elf64_Phdr ph[MAX_PHNUM];
  off_t fsize;
};

static int read_image(int fd, struct image *im, bool *host_elf, char *msg,
                      size_t msglen, const char *path) {
  struct stat st;
  *host_elf = false;
  if (fstat(fd, &st) < 0)
    return -errno;
  if (!S_ISREG(st.st_mode)) {
    snprintf(msg, msglen, "%s is not a regular file", path);
    return -EACCES;
  }
  struct statfs sf; /* /proc/self/mem is a "regular file" too */
  if (fstatfs(fd, &sf) == 0 && sf.f_type == 0x9fa0 /* PROC_SUPER_MAGIC */) {
    snprintf(msg, msglen, "%s is a /proc file, not a program", path);
    return -EACCES;
  }
  im->fsize = st.st_size;
  if (pread(fd, &im->eh, sizeof im->eh, 0) != (ssize_t)sizeof im->eh ||
      memcmp(im->eh.e_ident, ELFMAG, SELFMAG) != 0) {
    snprintf(msg, msglen, "%s is not an ELF file", path);
    return -ENOEXEC;
  }
  if (im->eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      im->eh.e_ident[EI_DATA] != ELFDATA2LSB ||
      im->eh.e_machine != EM_AARCH64) {
#if defined(__x86_64__)
    *host_elf = im->eh.e_machine == EM_X86_64;
#endif
    snprintf(msg, msglen, "%s is not a 64-bit arm64 ELF file", path);
    return -ENOEXEC;
  }
  if ((im->eh.e_type != ET_EXEC && im->eh.e_type != ET_DYN) ||
      im->eh.e_phentsize != sizeof(Elf64_Phdr) || im->eh.e_phnum == 0 ||
      im->eh.e_phnum > MAX_PHNUM) {
    snprintf(msg, msglen, "%s has an unsupported ELF type or header", path);
    return -ENOEXEC;
  }
  size_t phsz = im->eh.e_phnum * sizeof(Elf64_Phdr);
  if (pread(fd, im->ph, phsz, (off_t)im->eh.e_phoff) != (ssize_t)phsz) {
    snprintf(msg, msglen, "%s: cannot read its program headers", path);
    return -ENOEXEC;
  }
  bool any = false;
  for (unsigned i = 0; i < im->eh.e_phnum; i++) {
    const Elf64_Phdr *p = &im->ph[i];
    if (p->p_type == PT_INTERP) {
      snprintf(msg, msglen,
               "%s is dynamically linked; vmkit exec runs static programs "
               "only (link with -static)",
               path);
      return -ENOEXEC;
    }
    if (p->p_type != PT_LOAD)
      continue;
    any = true;
    if (p->p_filesz > p->p_memsz || p->p_offset > (uint64_t)im->fsize ||
        p->p_filesz > (uint64_t)im->fsize - p->p_offset ||
        p->p_vaddr >= (1ull << 32) || p->p_memsz >= (1ull << 32) ||
        (p->p_vaddr % US_PAGE) != (p->p_offset % US_PAGE)) {
      snprintf(msg, msglen, "%s has a malformed loadable segment", path);
      return -ENOEXEC;
    }
  }
  if (!any) {
    snprintf(msg, msglen, "%s has nothing to load", path);
    return -ENOEXEC;
  }
  return 0;
}

int emu_ur_check(const char *path, bool *host_elf, char *msg, size_t msglen) {
  struct image im;
  /* O_NONBLOCK: a FIFO must not block; read_image refuses it. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int e = -errno;
    snprintf(msg, msglen, "cannot open %s: %s", path, strerror(-e));
    return e;
  }
  int r = read_image(fd, &im, host_elf, msg, msglen, path);
  close(fd);
  return r;
}

static int prot_of(uint32_t pf) {
  return (pf & PF_R ? PROT_READ : 0) | (pf & PF_W ? PROT_WRITE : 0) |
         (pf & PF_X ? PROT_EXEC : 0);
}

static uint64_t push_bytes(struct uspace *us, uint64_t *sp, const void *p,
                           size_t n) {
  *sp -= n;
  memcpy(us->base + *sp, p, n);
  return *sp;
}

int emu_ur_load(struct urun *u, const char *path, char *const argv[],
                char *const envp[], char *msg, size_t msglen) {
  struct image im;
  bool host_elf;
  /* O_NONBLOCK: a FIFO must not block; read_image refuses it. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int e = -errno;
    snprintf(msg, msglen, "cannot open %s: %s", path, strerror(-e));
    return e;
  }
  int r = read_image(fd, &im, &host_elf, msg, msglen, path);
  size_t argc = 0, envc = 0, strbytes = strlen(path) + 1;
  for (; argv && argv[argc]; argc++)
    strbytes += strlen(argv[argc]) + 1;
  for (; envp && envp[envc]; envc++)
    strbytes += strlen(envp[envc]) + 1;
  if (!r && strbytes + 8 * (argc + envc) > MAX_ARGS_BYTES) {
    snprintf(msg, msglen, "argument list too long");
    r = -E2BIG;
  }
  if (r) {
    close(fd);
    return r;
  }

  /* Point of no return: replace the address space. */
  struct uspace *us = &u->us;
  if ((r = emu_us_reset(us)) < 0) {
    close(fd);
    snprintf(msg, msglen, "cannot reset the guest address space");
    return r;
  }
  uint64_t lo = UINT64_MAX, hi = 0;
  for (unsigned i = 0; i < im.eh.e_phnum; i++) {
    const Elf64_Phdr *p = &im.ph[i];
    if (p->p_type != PT_LOAD)
      continue;
    if (p->p_vaddr < lo)
      lo = p->p_vaddr;
    if (p->p_vaddr + p->p_memsz > hi)
      hi = p->p_vaddr + p->p_memsz;
  }
  uint64_t bias =
      im.eh.e_type == ET_DYN ? US_DYN_BASE - (lo & ~(US_PAGE - 1)) : 0;
  uint64_t phdr = 0;
  for (unsigned i = 0; i < im.eh.e_phnum && !r; i++) {
    const Elf64_Phdr *p = &im.ph[i];
    if (p->p_type == PT_PHDR)
      phdr = p->p_vaddr + bias;
    if (p->p_type != PT_LOAD)
      continue;
    if (p->p_offset <= im.eh.e_phoff &&
        im.eh.e_phoff < p->p_offset + p->p_filesz && !phdr)
      phdr = p->p_vaddr + (im.eh.e_phoff - p->p_offset) + bias;
    uint64_t va = p->p_vaddr + bias;
    uint64_t start = va & ~(US_PAGE - 1);
    uint64_t end = (va + p->p_memsz + US_PAGE - 1) & ~(US_PAGE - 1);
    if (end > start &&
        emu_us_ptr(us, start, end - start, US_R) == NULL) /* not yet mapped */
      r = emu_us_map_anon(us, start, end - start, PROT_READ | PROT_WRITE);
    if (!r && p->p_filesz &&
        pread(fd, us->base + va, p->p_filesz, (off_t)p->p_offset) !=
            (ssize_t)p->p_filesz)
      r = -EIO;
  }
  for (unsigned i = 0; i < im.eh.e_phnum && !r; i++) {
    const Elf64_Phdr *p = &im.ph[i];
    if (p->p_type != PT_LOAD || !p->p_memsz)
      continue;
    uint64_t va = p->p_vaddr + bias;
    uint64_t start = va & ~(US_PAGE - 1);
    r = emu_us_mprotect(us, start, va + p->p_memsz - start,
                        prot_of(p->p_flags));
  }
  close(fd);
  if (r) {
    snprintf(msg, msglen, "cannot load %s: %s", path, strerror(-r));
    return r;
  }
  us->brk_start = us->brk_cur = (hi + bias + US_PAGE - 1) & ~(US_PAGE - 1);

  /* Stack. */
  if ((r = emu_us_map_anon(us, US_STACK_TOP - US_STACK_SIZE, US_STACK_SIZE,
                           PROT_READ | PROT_WRITE)) < 0) {
    snprintf(msg, msglen, "cannot map the guest stack");
    return r;
  }
  uint64_t sp = US_STACK_TOP;
  uint64_t execfn = push_bytes(us, &sp, path, strlen(path) + 1);
  uint64_t envaddr[envc + 1], argaddr[argc + 1];
  for (size_t i = envc; i-- > 0;)
    envaddr[i] = push_bytes(us, &sp, envp[i], strlen(envp[i]) + 1);
  for (size_t i = argc; i-- > 0;)
    argaddr[i] = push_bytes(us, &sp, argv[i], strlen(argv[i]) + 1);
  uint64_t platform = push_bytes(us, &sp, "aarch64", 8);
  uint8_t rnd[16];
  if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
    memset(rnd, 0x5a, sizeof rnd);
  uint64_t random = push_bytes(us, &sp, rnd, sizeof rnd);
  uint64_t aux[][2] = {
      {AT_PHDR, phdr},
      {AT_PHENT, sizeof(Elf64_Phdr)},
      {AT_PHNUM, im.eh.e_phnum},
      {AT_PAGESZ, US_PAGE},
      {AT_BASE, 0},
      {AT_FLAGS, 0},
      {AT_ENTRY, im.eh.e_entry + bias},
      {AT_UID, getuid()},
      {AT_EUID, geteuid()},
      {AT_GID, getgid()},
      {AT_EGID, getegid()},
      {AT_SECURE, 0},
      {AT_HWCAP, HWCAP_FP | HWCAP_ASIMD}, /* truthful: v8.0 + FP/ASIMD */
      {AT_HWCAP2, 0},
      {AT_CLKTCK, (uint64_t)sysconf(_SC_CLK_TCK)},
      {AT_RANDOM, random},
      {AT_PLATFORM, platform},
      {AT_EXECFN, execfn},
      {AT_NULL, 0},
  };
  size_t naux = sizeof aux / sizeof aux[0];
  _Static_assert(sizeof aux <= sizeof u->auxv, "auxv copy too small");
  memcpy(u->auxv, aux, sizeof aux); /* /proc/self/auxv reads this copy */
  u->auxv_len = sizeof aux;
  u->image_lo = (lo + bias) & ~(US_PAGE - 1);
  size_t words = 1 + argc + 1 + envc + 1 + 2 * naux;
  sp = (sp - 8 * words) & ~15ull;
  uint64_t *w = (uint64_t *)(us->base + sp);
  size_t k = 0;
  w[k++] = argc;
  for (size_t i = 0; i < argc; i++)
    w[k++] = argaddr[i];
  w[k++] = 0;
  for (size_t i = 0; i < envc; i++)
    w[k++] = envaddr[i];
  w[k++] = 0;
  for (size_t i = 0; i < naux; i++) {
    w[k++] = aux[i][0];
    w[k++] = aux[i][1];
  }

  struct emu_cpu *cpu = &u->cpu;
  memset(cpu->r, 0, sizeof cpu->r);
  memset(cpu->v, 0, sizeof cpu->v);
  cpu->r[EMU_SP] = sp;
  cpu->pc = im.eh.e_entry + bias;
  cpu->nzcv = cpu->fpcr = cpu->fpsr = 0;
  cpu->tpidr_el0 = cpu->tpidrro_el0 = 0;
  cpu->excl_size = 0;
  emu_tlb_flush(cpu);
  emu_flush_code(cpu);
  snprintf(u->exe_path, sizeof u->exe_path, "%s", path);
  return 0;
}
