/**
 * Where a published port can be reached from. Docker publishes a port on one host address: 127.0.0.1 keeps
 * it on this machine, 0.0.0.0 opens it on every interface, any other address on that interface only.
 */

/** The host address a port is published on unless the config says otherwise: this machine only. */
export const LOOPBACK = "127.0.0.1";
/** The address that publishes a port on every interface of the host. */
export const EVERY_INTERFACE = "0.0.0.0";

/** Whether an IPv4 address is on the loopback network (127.0.0.0/8): reachable from this machine only. */
export const isLoopback = (address: string): boolean => address.startsWith("127.");

/**
 * The URL that reaches, from this machine, an HTTP port published on `address`: localhost when it is
 * published on 127.0.0.1 or on every interface, otherwise that address (a port published on another
 * loopback or interface address answers there only).
 */
export function localUrl(address: string, port: number): string {
  const host = address === LOOPBACK || address === EVERY_INTERFACE ? "localhost" : address;
  return `http://${host}:${port}`;
}
