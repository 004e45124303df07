/*
 * kvm_probe: the smallest end-to-end use of /dev/kvm, run by test_sandbox.sh
 * inside the emulated host. It checks the API version, creates a VM with one
 * vCPU and runs five bytes of real-mode code: an OUT to port 0x10, then HLT.
 * Prints one "step: result" line per step; exits 0 only if all passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUEST_MEM  0x10000
#define CODE_GPA   0x1000
#define PROBE_PORT 0x10

static int fail(const char *step)
{
	printf("%s: failed: %s\n", step, strerror(errno));
	return 1;
}

int main(void)
{
	/* mov al, 0x42; out 0x10, al; hlt */
	static const uint8_t code[] = {0xb0, 0x42, 0xe6, PROBE_PORT, 0xf4};

	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open");
	int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	printf("api-version: %d\n", api);
	if (api != KVM_API_VERSION)
		return 1;

	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("create-vm");
	printf("create-vm: ok\n");

	uint8_t *mem =
	    mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap");
	memcpy(mem + CODE_GPA, code, sizeof(code));
	struct kvm_userspace_memory_region region = {
	    .slot = 0,
	    .guest_phys_addr = 0,
	    .memory_size = GUEST_MEM,
	    .userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("set-memory");

	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("create-vcpu");
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0)
		return fail("vcpu-mmap-size");
	struct kvm_run *run =
	    mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("vcpu-mmap");

	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("get-sregs");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("set-sregs");
	struct kvm_regs regs = {.rip = CODE_GPA, .rflags = 0x2};
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("set-regs");

	if (ioctl(vcpu, KVM_RUN, 0) < 0)
		return fail("run");
	if (run->exit_reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_OUT ||
	    run->io.port != PROBE_PORT) {
		printf("run: unexpected exit reason %u\n", run->exit_reason);
		return 1;
	}
	printf("run: out port 0x%x value 0x%x\n", run->io.port,
	       *((uint8_t *)run + run->io.data_offset));

	if (ioctl(vcpu, KVM_RUN, 0) < 0)
		return fail("run");
	if (run->exit_reason != KVM_EXIT_HLT) {
		printf("run: unexpected exit reason %u\n", run->exit_reason);
		return 1;
	}
	printf("run: hlt\n");
	return 0;
}
