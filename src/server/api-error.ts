/** An error answered on the wire the way ECR answers it: `{"__type","message", ...extra}` with a status. */
export class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const invalidParameter = (message: string) => new ApiError('InvalidParameterException', message);
