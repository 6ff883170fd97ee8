// arm64: virt (cortex-a57) + AAVMF + GRUB arm64-efi + Debian's arm64 kernel,
// on an image made by the library.
import { ARM64, gptBootSuite } from './gpt-suite.js';

gptBootSuite(ARM64, 'library');
