// x86_64: q35 + OVMF + GRUB x86_64-efi + Debian's amd64 kernel.
import { X86_64, gptBootSuite } from './gpt-suite.js';

gptBootSuite(X86_64);
