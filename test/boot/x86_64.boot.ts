// x86_64: q35 + OVMF + GRUB x86_64-efi + Debian's amd64 kernel, on an image
// made by the library (the genericGpt preset; buildImage from a hand-written
// spec while the preset is not in the tree) and on one made by the classic
// tools (the harness's reference: tells a harness failure from ours).
import { X86_64, gptBootSuite } from './gpt-suite.js';
import { PRESETS_READY } from './library.js';

gptBootSuite(X86_64, PRESETS_READY ? 'preset' : 'library');
gptBootSuite(X86_64, 'classic');
