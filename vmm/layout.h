/* The guest-physical layout every VM gets (identity-mapped, so guest virtual
 * = guest physical). The system slot (0) holds everything below KQ_PT_BASE;
 * the test region is slot 1, whose backing and guest page size each test
 * chooses; page tables take 2 MiB slots from KQ_PT_BASE up as they grow.
 * Callers add more slots anywhere that is free (vmm/slots.h).
 *
 *   0x0000_1000  GDT (null, code64, data, TSS descriptor)
 *   0x0000_2000  TSS (shared: the guest stays in ring 0 and uses no IST)
 *   0x0000_3000  IDT (256 gates to the image's exception stubs)
 *   0x0010_0000  guest image (code, data, bss), at most 1 MiB
 *   0x0020_0000  per-vCPU areas, 64 KiB each: parameter page, samples, stack
 *   0x0060_0000  page tables: one 2 MiB slot after another, up to KQ_PT_END
 *   0xc000_0000  unbacked: MMIO benchmarks exit to userspace here
 *   0xfee0_0000  local APIC (in-kernel when the VM has an irqchip)
 *   4 GiB        test region (mapped with the test's guest page size)
 * Everything below 4 GiB is mapped with 2M pages. */
#ifndef KQ_VMM_LAYOUT_H
#define KQ_VMM_LAYOUT_H

#define KQ_GDT_GPA	  0x1000ULL
#define KQ_TSS_GPA	  0x2000ULL
#define KQ_IDT_GPA	  0x3000ULL
#define KQ_VCPU_AREA_GPA  0x200000ULL
#define KQ_VCPU_AREA_SIZE 0x10000ULL
#define KQ_VCPU_MAX	  64
#define KQ_PT_BASE	  0x600000ULL
#define KQ_PT_CHUNK	  0x200000ULL
#define KQ_PT_END	  0x40000000ULL
#define KQ_MMIO_GPA	  0xc0000000ULL
#define KQ_LAPIC_GPA	  0xfee00000ULL
#define KQ_TEST_GPA	  0x100000000ULL

/* Inside a vCPU area. */
#define KQ_VCPU_PARAMS_OFF  0x0
#define KQ_VCPU_SAMPLES_OFF 0x1000 /* KQ_MAX_SAMPLES * 8 bytes = 24 KiB */
#define KQ_VCPU_STACK_TOP   KQ_VCPU_AREA_SIZE

#define KQ_SEL_CODE 0x08
#define KQ_SEL_DATA 0x10
#define KQ_SEL_TSS  0x18

#endif
