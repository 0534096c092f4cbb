/** HTTP status codes by name (the subset mkserver uses; see @std/http). */
export declare const STATUS_CODE: {
  readonly OK: 200;
  readonly Accepted: 202;
  readonly NoContent: 204;
  readonly PartialContent: 206;
  readonly NotModified: 304;
  readonly BadRequest: 400;
  readonly Unauthorized: 401;
  readonly Forbidden: 403;
  readonly NotFound: 404;
  readonly MethodNotAllowed: 405;
  readonly Conflict: 409;
  readonly Gone: 410;
  readonly RangeNotSatisfiable: 416;
  readonly InternalServerError: 500;
  readonly ServiceUnavailable: 503;
};
/** Status texts by code. */
export declare const STATUS_TEXT: Readonly<Record<number, string>>;
