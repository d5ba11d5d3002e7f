// Errors raised by the storage backend. Each class has a stable `code`.

export class BackendError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'BackendError';
    this.code = code;
  }
}

export class BackendClosedError extends BackendError {
  constructor() {
    super('ERR_BACKEND_CLOSED', 'backend: closed');
    this.name = 'BackendClosedError';
  }
}

export class BackendBusyError extends BackendError {
  constructor(what: string) {
    super('ERR_BACKEND_BUSY', `backend: ${what} already in progress`);
    this.name = 'BackendBusyError';
  }
}
