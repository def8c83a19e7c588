/** An error answered on the wire the way ECR answers it: `{"__type","message", ...extra}` with a status. */
export class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
    readonly extra: Record<string, unknown> = {},
    /** A body that is not JSON at all gets a bare `{"__type"}` from AWS's JSON protocol, no message. */
    readonly options: { omitMessage?: boolean } = {},
  ) {
    super(message);
  }

  body(): Record<string, unknown> {
    return { __type: this.type, ...(this.options.omitMessage ? {} : { message: this.message }), ...this.extra };
  }
}

/** ECR's own validation error: `Invalid parameter at '<member>' failed to satisfy constraint: '<why>'`. */
export const invalidParameter = (message: string) => new ApiError('InvalidParameterException', message);

export const invalidParameterAt = (member: string, constraint: string) =>
  invalidParameter(`Invalid parameter at '${member}' failed to satisfy constraint: '${constraint}'`);
