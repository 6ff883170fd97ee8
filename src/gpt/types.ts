// Partition type GUIDs by alias: UEFI 2.10 Table 5.7 and the UAPI Discoverable
// Partitions Specification (systemd), as sgdisk and sfdisk list them.
import { isGuid } from '../codec/guid.js';
import { fail } from '../errors.js';

export const GPT_TYPES: Record<string, string> = {
  esp: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  'bios-boot': '21686148-6449-6E6F-744E-656564454649',
  msdata: 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7',
  linux: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
  swap: '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F',
  xbootldr: 'BC13C2FF-59E6-4262-A352-B275FD6F7172',
  'linux-lvm': 'E6D6D379-F507-44C2-A23C-238F2A3DF928',
  'linux-raid': 'A19D880F-05FC-4D3B-A006-743F0F84911E',
  'linux-home': '933AC7E1-2EB4-4F13-B844-0E14E2AEF915',
  'linux-srv': '3B8F8425-20E0-4F3B-907F-1A25A76F98E8',
  'linux-var': '4D21B016-B534-45C2-A9FB-5C16E091FD2D',
  'linux-var-tmp': '7EC6F557-3BC5-4ACA-B293-16EF5DF639D1',
  'linux-root-x86': '44479540-F297-41B2-9AF7-D131D5F0458A',
  'linux-root-x86-64': '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709',
  'linux-root-arm': '69DAD710-2CE4-4E3C-B16C-21A1D49ABED3',
  'linux-root-arm64': 'B921B045-1DF0-41C3-AF44-4C6F280D3FAE',
  'linux-root-riscv64': '72EC70A6-CF74-40E6-BD49-4BDA08E8F224',
  'linux-usr-x86': '75250D76-8CC6-458E-BD66-BD47CC81A812',
  'linux-usr-x86-64': '8484680C-9521-48C6-9C11-B0720656F69E',
  'linux-usr-arm': '7D0359A3-02B3-4F0A-865C-654403E70625',
  'linux-usr-arm64': 'B0E01050-EE5F-4390-949A-9101B17104E9',
  'linux-usr-riscv64': 'BEAEC34B-8442-439B-A40B-984381ED097D',
};

/** The canonical upper-case type GUID for an alias or a raw GUID. */
export function resolveGptType(value: unknown, path = 'type'): string {
  if (typeof value === 'string') {
    const alias = GPT_TYPES[value.toLowerCase()];
    if (alias) return alias;
    if (isGuid(value) && !/^0{8}-0{4}-0{4}-0{4}-0{12}$/.test(value)) return value.toUpperCase();
  }
  return fail('SPEC_TYPE', `${path}: not a GPT partition type: ${JSON.stringify(value)} (use an alias such as "esp", "linux", "linux-root-x86-64" or a GUID)`, { path, value });
}

/** The alias of a type GUID, if it has one. */
export function gptTypeAlias(guid: string): string | undefined {
  const g = guid.toUpperCase();
  return Object.keys(GPT_TYPES).find((k) => GPT_TYPES[k] === g);
}
