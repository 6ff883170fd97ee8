// x86_64: q35 + OVMF + GRUB x86_64-efi + Debian's amd64 kernel, on an image
// made by the classic tools and on one made by the library.
import { X86_64, gptBootSuite } from './gpt-suite.js';

gptBootSuite(X86_64, 'library');
gptBootSuite(X86_64, 'classic');
