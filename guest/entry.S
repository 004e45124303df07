/* Guest entry and exception stubs. The host enters long mode directly with
 * RSP at this vCPU's stack top and RDI at its parameter page. */
	.section .kq_header, "a"
	.globl kq_image_header
kq_image_header:
	.quad 0x3154534555474b51	/* KQ_IMAGE_MAGIC */
	.quad kq_entry
	.quad kq_isr_table
	.quad __image_end
	.quad 1				/* KQ_ABI_VERSION */

	.section .text.entry, "ax"
	.globl kq_entry
kq_entry:
	/* kq_guest_main's first act is the BOOT ucall the host times start-up by. */
	call kq_guest_main
1:	cli
	hlt
	jmp 1b

/* Vectors that push an error code themselves: 8, 10-14, 17, 21, 29, 30. */
.macro isr vec
	.align 16
isr_\vec:
	.if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
	.else
	push $0
	.endif
	push $\vec
	jmp isr_common
.endm

	.text
isr_common:
	push %rbx
	push %rax
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %r8
	push %r9
	push %r10
	push %r11
	mov %rsp, %rdi		/* struct kq_isr_frame * */
	/* Keep the stack 16-byte aligned for the C handler. */
	mov %rsp, %rbx
	and $-16, %rsp
	call kq_isr_dispatch
	mov %rbx, %rsp
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rax
	pop %rbx
	add $16, %rsp		/* vector and error code */
	iretq

	.altmacro
	.set i, 0
	.rept 256
	isr %i
	.set i, i+1
	.endr

.macro isr_addr vec
	.quad isr_\vec
.endm
	.section .rodata
	.align 8
	.globl kq_isr_table
kq_isr_table:
	.set i, 0
	.rept 256
	isr_addr %i
	.set i, i+1
	.endr
	.section .note.GNU-stack, "", @progbits
