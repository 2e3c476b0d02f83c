/** Values of the Firmware Update object's State resource (5/0/3). */
export const FirmwareState = {
  IDLE: 0,
  DOWNLOADING: 1,
  DOWNLOADED: 2,
  UPDATING: 3,
} as const;
export type FirmwareState = (typeof FirmwareState)[keyof typeof FirmwareState];

/** Values of the Update Result resource (5/0/5). */
export const UpdateResult = {
  INITIAL: 0,
  SUCCESS: 1,
  NOT_ENOUGH_FLASH: 2,
  OUT_OF_RAM: 3,
  CONNECTION_LOST: 4,
  INTEGRITY_FAILURE: 5,
  UNSUPPORTED_PACKAGE: 6,
  INVALID_URI: 7,
  UPDATE_FAILED: 8,
  UNSUPPORTED_PROTOCOL: 9,
  CANCELLED: 10,
  /** 1.1: the device deferred the update (see Maximum Defer Period, 5/0/13). */
  DEFERRED: 11,
} as const;
export type UpdateResult = (typeof UpdateResult)[keyof typeof UpdateResult];

/** Severity (5/0/11, 1.1) values. */
export const FirmwareSeverity = { CRITICAL: 0, MANDATORY: 1, OPTIONAL: 2 } as const;
export type FirmwareSeverity = (typeof FirmwareSeverity)[keyof typeof FirmwareSeverity];

/** Firmware Update Protocol Support (5/0/8) values. */
export const FirmwareProtocol = {
  COAP: 0,
  COAPS: 1,
  HTTP: 2,
  HTTPS: 3,
  COAP_TCP: 4,
  COAP_TLS: 5,
} as const;
