// HTTP/2 wire constants (RFC 9113): frame types, flags, error codes, SETTINGS identifiers and
// the protocol's fixed limits.

export const frameHeaderBytes = 9;
export const clientPreface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FrameType = {
  Data: 0x0,
  Headers: 0x1,
  Priority: 0x2,
  RstStream: 0x3,
  Settings: 0x4,
  PushPromise: 0x5,
  Ping: 0x6,
  Goaway: 0x7,
  WindowUpdate: 0x8,
  Continuation: 0x9,
} as const;

export const Flag = {
  EndStream: 0x1,
  Ack: 0x1,
  EndHeaders: 0x4,
  Padded: 0x8,
  Priority: 0x20,
} as const;

export const ErrorCode = {
  NoError: 0x0,
  ProtocolError: 0x1,
  InternalError: 0x2,
  FlowControlError: 0x3,
  SettingsTimeout: 0x4,
  StreamClosed: 0x5,
  FrameSizeError: 0x6,
  RefusedStream: 0x7,
  Cancel: 0x8,
  CompressionError: 0x9,
  ConnectError: 0xa,
  EnhanceYourCalm: 0xb,
  InadequateSecurity: 0xc,
  Http11Required: 0xd,
} as const;

export const Setting = {
  HeaderTableSize: 0x1,
  EnablePush: 0x2,
  MaxConcurrentStreams: 0x3,
  InitialWindowSize: 0x4,
  MaxFrameSize: 0x5,
  MaxHeaderListSize: 0x6,
} as const;

/** RFC 9113 §6.5.2 defaults. */
export const defaultHeaderTableSize = 4096;
export const defaultInitialWindowSize = 65_535;
export const defaultMaxFrameSize = 16_384;
/** The largest SETTINGS_MAX_FRAME_SIZE a peer may advertise. */
export const maxAllowedFrameSize = 0xff_ffff;
/** The largest flow-control window (2^31-1). */
export const maxWindowSize = 0x7fff_ffff;
