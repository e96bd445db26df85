/* memmap.h — the arm64 "virt" machine's memory map and interrupt wiring,
 * the same as QEMU's virt board so guests and firmware built for it run
 * unchanged. Constants only; no thread concerns. */
#ifndef VMK_MACHINE_MEMMAP_H
#define VMK_MACHINE_MEMMAP_H

#define VMK_GICD_BASE 0x08000000ull
#define VMK_GICD_SIZE 0x00010000ull
#define VMK_GICR_BASE 0x080A0000ull
#define VMK_GICR_STRIDE 0x20000ull /* RD_base + SGI_base per CPU */
#define VMK_GICR_SIZE 0x00F60000ull

#define VMK_UART_BASE 0x09000000ull
#define VMK_UART_SIZE 0x1000ull
#define VMK_UART_SPI 1
#define VMK_RTC_BASE 0x09010000ull
#define VMK_RTC_SIZE 0x1000ull
#define VMK_RTC_SPI 2
#define VMK_GPIO_BASE 0x09030000ull
#define VMK_GPIO_SIZE 0x1000ull
#define VMK_GPIO_SPI 7
/* Opt-in boot-timer byte (not in QEMU's map; a free slot of it). */
#define VMK_BOOT_TIMER_BASE 0x090F0000ull
#define VMK_BOOT_TIMER_SIZE 0x1000ull
/* pvpanic-mmio (QEMU's virt has none; a free slot of its platform range). */
#define VMK_PVPANIC_BASE 0x090C0000ull
#define VMK_PVPANIC_SIZE 0x1000ull

#define VMK_VIRTIO_MMIO_BASE 0x0A000000ull
#define VMK_VIRTIO_MMIO_STRIDE 0x200ull
#define VMK_VIRTIO_MMIO_SLOTS 32
#define VMK_VIRTIO_MMIO_SPI0 16 /* slot n uses SPI 16 + n */

#define VMK_RAM_BASE 0x40000000ull

#define VMK_NR_SPIS 64

/* Arch timer PPIs, as the device tree names them (PPI numbers; INTID is
 * 16 + n): secure phys, non-secure phys, virtual, hypervisor. */
#define VMK_PPI_TIMER_SEC 13
#define VMK_PPI_TIMER_PHYS 14
#define VMK_PPI_TIMER_VIRT 11
#define VMK_PPI_TIMER_HYP 10

#endif
