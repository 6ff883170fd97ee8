declare module 'crc-32/crc32c.js' {
  export function buf(data: number[] | Uint8Array, seed?: number): number;
  export function bstr(data: string, seed?: number): number;
  export function str(data: string, seed?: number): number;
  const CRC32C: { buf: typeof buf; bstr: typeof bstr; str: typeof str };
  export default CRC32C;
}
