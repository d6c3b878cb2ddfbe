/**
 * A real Kubernetes API server for tests: etcd and kube-apiserver (built by scripts/lib/kube.sh, which
 * exports ETCD_BIN and KUBE_APISERVER_BIN) on loopback ports, with a throwaway data directory, the
 * serving certificate kube-apiserver generates for itself, and one static admin token. It stores,
 * defaults and validates objects like any cluster (OpenAPI and CRD schemas, CEL rules, admission); no
 * controller or kubelet runs, so nothing is ever scheduled.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startServerProcess, waitUntilReady, type ServerProcess } from "./processes.ts";

export interface KubeResponse {
  readonly status: number;
  readonly body: string;
  /** The API server's `Warning` headers (deprecations, Pod Security warnings). */
  readonly warnings: string[];
}

export interface KubeApiServer {
  /** `https://127.0.0.1:<port>`. */
  readonly url: string;
  /** Sends one request as the admin (group system:masters); a JSON body is serialised. */
  request(method: string, path: string, body?: unknown, contentType?: string): Promise<KubeResponse>;
  /** Stops kube-apiserver and etcd and deletes their data. */
  destroy(): Promise<void>;
}

function binary(variable: "ETCD_BIN" | "KUBE_APISERVER_BIN"): string {
  const path = process.env[variable];
  if (path === undefined || path === "") {
    throw new Error(
      `${variable} is not set: scripts/test.sh builds etcd and kube-apiserver (scripts/lib/kube.sh) and exports it; run the test with 'npm test'`,
    );
  }
  return path;
}

/** Starts etcd, then kube-apiserver on it; resolves once the API server answers /readyz. */
export async function startKubeApiServer(): Promise<KubeApiServer> {
  const etcdBin = binary("ETCD_BIN");
  const apiserverBin = binary("KUBE_APISERVER_BIN");
  const dir = mkdtempSync(join(tmpdir(), "tidbstack-kube-"));
  const servers: ServerProcess[] = [];
  const destroy = async (): Promise<void> => {
    // The API server first: it would log errors for every etcd call made while etcd stops.
    for (const server of [...servers].reverse()) await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const etcd = startServerProcess(
      etcdBin,
      [
        "--name=test",
        `--data-dir=${join(dir, "etcd")}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=test=${peerUrl}`,
        // Throwaway data: durability is not worth an fsync per write on a shared test machine.
        "--unsafe-no-fsync",
        "--log-level=warn",
      ],
      join(dir, "etcd.log"),
    );
    servers.push(etcd);
    await waitUntilReady("etcd", etcd, () => etcdHealthy(etcdUrl), 30_000);

    const token = randomBytes(24).toString("hex");
    writeFileSync(join(dir, "tokens.csv"), `${token},admin,admin,system:masters\n`, { mode: 0o600 });
    // Service account tokens must be signed by something, though no test issues one.
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const keyFile = join(dir, "service-account.key");
    writeFileSync(keyFile, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    const certDir = join(dir, "certs");
    mkdirSync(certDir);

    const apiserver = startServerProcess(
      apiserverBin,
      [
        `--etcd-servers=${etcdUrl}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${apiPort}`,
        // No certificate given: kube-apiserver writes a self-signed one (with its CA) here at start.
        `--cert-dir=${certDir}`,
        `--token-auth-file=${join(dir, "tokens.csv")}`,
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        `--service-account-key-file=${keyFile}`,
        `--service-account-signing-key-file=${keyFile}`,
        // Only allocated from on paper: ClusterIPs are stored, never routed.
        "--service-cluster-ip-range=10.0.0.0/24",
        // The `kubernetes` Service's endpoints would be 127.0.0.1, which endpoint validation refuses.
        "--endpoint-reconciler-type=none",
        "--enable-priority-and-fairness=false",
      ],
      join(dir, "kube-apiserver.log"),
    );
    servers.push(apiserver);
    let ca: string | undefined;
    const client = async (method: string, path: string, body?: unknown, contentType?: string) => {
      ca ??= readFileSync(join(certDir, "apiserver.crt"), "utf8");
      // A new resource's storage answers 429 with a retry hint while its cache initialises; clients
      // (client-go included) wait and retry.
      for (let attempt = 1; ; attempt++) {
        const response = await send(apiPort, ca, token, method, path, body, contentType);
        if (response.status !== 429 || attempt === 10) return response;
        await new Promise((resolve) => setTimeout(resolve, retryAfterMs(response)));
      }
    };
    await waitUntilReady(
      "kube-apiserver",
      apiserver,
      async () => {
        const response = await client("GET", "/readyz");
        if (response.status !== 200) throw new Error(`/readyz answered ${response.status}: ${response.body}`);
      },
      120_000,
    );
    return { url: `https://127.0.0.1:${apiPort}`, request: client, destroy };
  } catch (error) {
    await destroy();
    throw error;
  }
}

function retryAfterMs(response: KubeResponse): number {
  try {
    const seconds = (JSON.parse(response.body) as { details?: { retryAfterSeconds?: number } }).details
      ?.retryAfterSeconds;
    return Math.min(5, Math.max(1, seconds ?? 1)) * 1000;
  } catch {
    return 1000;
  }
}

async function etcdHealthy(url: string): Promise<void> {
  const response = await fetch(`${url}/health`);
  const body = (await response.json()) as { health?: string };
  if (body.health !== "true") throw new Error(`etcd reports ${JSON.stringify(body)}`);
}

function send(
  port: number,
  ca: string,
  token: string,
  method: string,
  path: string,
  body: unknown,
  contentType = "application/json",
): Promise<KubeResponse> {
  const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        // The self-signed certificate names the advertise address, 127.0.0.1, which is what we dial.
        ca,
        headers: {
          authorization: `Bearer ${token}`,
          accept: "application/json",
          ...(payload === undefined
            ? {}
            : { "content-type": contentType, "content-length": Buffer.byteLength(payload) }),
        },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          // Raw headers: Node joins repeated headers with commas, which the warnings' texts contain.
          const warnings = res.rawHeaders.filter(
            (_, i) => i % 2 === 1 && res.rawHeaders[i - 1]?.toLowerCase() === "warning",
          );
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), warnings });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on("error", reject);
    req.end(payload);
  });
}
