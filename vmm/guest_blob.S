/* The guest image, embedded in the host binary. */
	.section .rodata
	.balign 4096
	.globl kq_guest_blob, kq_guest_blob_end
kq_guest_blob:
	.incbin GUEST_BIN
kq_guest_blob_end:
	.section .note.GNU-stack, "", @progbits
