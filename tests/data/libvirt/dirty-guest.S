/* A guest for the live backend's fault tests: a 32-bit multiboot kernel (QEMU boots it with
 * -kernel, no disk, no firmware boot) that fills FILL_MIB MiB of its RAM with pseudo-random
 * data (so that a migration has that much to send: zero pages cost nothing), then, 100 times a
 * second, rewrites DIRTY_PAGES pages of a DIRTY_MIB MiB working set with new random words (so
 * that pre-copy has pages to re-send), and halts between timer ticks (no busy loop: under TCG
 * it costs almost no host CPU). Assemble: as --32; link: ld -m elf_i386 -Ttext 0x100000. */
        .set MB_MAGIC, 0x1BADB002
        .set MB_FLAGS, 0
        .set FILL_START, 0x00400000
        .ifndef FILL_MIB
        .set FILL_MIB, 40
        .endif
        .ifndef DIRTY_MIB
        .set DIRTY_MIB, 8
        .endif
        .ifndef DIRTY_PAGES
        .set DIRTY_PAGES, 1
        .endif
        .set FILL_END, FILL_START + FILL_MIB * 0x100000
        .set DIRTY_END, FILL_START + DIRTY_MIB * 0x100000

        .text
        .globl _start
        .align 4
multiboot_header:
        .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

_start:
        cli
        lgdt gdtr
        ljmp $0x08, $reload
reload:
        mov $0x10, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        mov %ax, %fs
        mov %ax, %gs
        mov $stack_top, %esp

        /* Fill the region with xorshift32 words. */
        mov $0x2463534f, %eax
        mov $FILL_START, %edi
fill:
        call xorshift
        mov %eax, (%edi)
        add $4, %edi
        cmp $FILL_END, %edi
        jb fill
        mov %eax, seed

        /* IDT: every vector to one handler that acknowledges the PIC and returns. */
        mov $idt, %edi
        mov $irq, %edx
        mov $256, %ecx
idt_fill:
        mov %dx, (%edi)
        movw $0x08, 2(%edi)
        movw $0x8E00, 4(%edi)
        mov %edx, %ebx
        shr $16, %ebx
        mov %bx, 6(%edi)
        add $8, %edi
        loop idt_fill
        lidt idtr

        /* PICs remapped to vectors 0x20-0x2F (off the CPU exceptions), only IRQ0 unmasked. */
        mov $0x11, %al
        out %al, $0x20
        out %al, $0xA0
        mov $0x20, %al
        out %al, $0x21
        mov $0x28, %al
        out %al, $0xA1
        mov $4, %al
        out %al, $0x21
        mov $2, %al
        out %al, $0xA1
        mov $1, %al
        out %al, $0x21
        out %al, $0xA1
        mov $0xFE, %al
        out %al, $0x21
        mov $0xFF, %al
        out %al, $0xA1

        /* PIT channel 0 at 100 Hz (1193182 / 11932). */
        mov $0x36, %al
        out %al, $0x43
        mov $11932 & 0xFF, %al
        out %al, $0x40
        mov $11932 >> 8, %al
        out %al, $0x40

        mov $FILL_START, %edi
        sti
tick:
        hlt
        mov seed, %eax
        mov $DIRTY_PAGES, %ecx
dirty:
        call xorshift
        mov %eax, (%edi)
        add $4096, %edi
        cmp $DIRTY_END, %edi
        jb 1f
        mov $FILL_START, %edi
        addl $4, dirty_offset
        andl $4095, dirty_offset
        add dirty_offset, %edi
1:
        loop dirty
        mov %eax, seed
        jmp tick

/* xorshift32 of %eax, in place. */
xorshift:
        mov %eax, %ebx
        shl $13, %ebx
        xor %ebx, %eax
        mov %eax, %ebx
        shr $17, %ebx
        xor %ebx, %eax
        mov %eax, %ebx
        shl $5, %ebx
        xor %ebx, %eax
        ret

irq:
        push %eax
        mov $0x20, %al
        out %al, $0x20
        pop %eax
        iret

        .data
        .align 8
gdt:
        .quad 0
        .quad 0x00CF9A000000FFFF        /* 0x08: flat 32-bit code */
        .quad 0x00CF92000000FFFF        /* 0x10: flat 32-bit data */
gdtr:
        .word gdtr - gdt - 1
        .long gdt
idtr:
        .word 256 * 8 - 1
        .long idt
seed:
        .long 0
dirty_offset:
        .long 0

        .bss
        .align 16
idt:
        .skip 256 * 8
        .skip 4096
stack_top:
