// http_fetch: one HTTP request through the runner's host function (rustyclaw.http_request), which
// allows only the manifest's network.allow hosts and adds the manifest's secrets itself.
// Arguments: {url, method?, headers?, body?}; output: {"status", "headers", "body"} or {"error"}.
import { readStdin, out } from "../lib/io";

// @ts-ignore: decorator
@external("rustyclaw", "http_request")
declare function http_request(ptr: usize, len: usize): i32;
// @ts-ignore: decorator
@external("rustyclaw", "http_response")
declare function http_response(ptr: usize, cap: usize): i32;

const req = String.UTF8.encode(readStdin());
const n = http_request(changetype<usize>(req), <usize>req.byteLength);
if (n < 0) {
  out("{\"error\":{\"code\":\"host_error\",\"message\":\"http_request failed\"}}");
} else {
  const buf = new ArrayBuffer(n);
  const got = http_response(changetype<usize>(buf), <usize>n);
  out(String.UTF8.decode(buf.slice(0, got < 0 ? 0 : got)));
}
