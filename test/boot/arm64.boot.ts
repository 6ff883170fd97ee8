// arm64: virt (cortex-a57) + AAVMF + GRUB arm64-efi + Debian's arm64 kernel.
import { ARM64, gptBootSuite } from './gpt-suite.js';

gptBootSuite(ARM64);
