/**
 * A VM disk as the mobility agent serves it: byte-addressed, any alignment. The NBD server and the
 * change capture both speak to disks through this interface only.
 */
export interface BlockDevice {
  readonly name: string;
  /** Bytes, a multiple of 512. */
  readonly size: number;
  read(offset: number, length: number): Promise<Buffer>;
  /** Any alignment; the device handles read-modify-write. */
  write(offset: number, data: Buffer, options: { fua: boolean }): Promise<void>;
  writeZeroes(offset: number, length: number, options: { fua: boolean; mayTrim: boolean }): Promise<void>;
  trim(offset: number, length: number): Promise<void>;
  flush(): Promise<void>;
}
