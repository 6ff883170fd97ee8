// arm64: virt (cortex-a57) + AAVMF + GRUB arm64-efi + Debian's arm64 kernel,
// on an image made by the library (the genericGpt preset, or buildImage from a
// hand-written spec while the preset is not in the tree).
import { ARM64, gptBootSuite } from './gpt-suite.js';
import { PRESETS_READY } from './library.js';

gptBootSuite(ARM64, PRESETS_READY ? 'preset' : 'library');
