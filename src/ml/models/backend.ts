/** tfjs loading and backend choice, shared by every tensor model: native TensorFlow if installed, else WASM, else CPU. */

/** The tfjs namespace (loaded lazily: importing tfjs costs startup time that `oracx --help` must not pay). */
export type Tf = typeof import('@tensorflow/tfjs');

/** Backends initBackend can settle on, fastest first. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

let tfModule: Promise<Tf> | undefined;
let ready: Promise<BackendName> | undefined;

/** The tfjs module, imported once on first use. */
export function loadTf(): Promise<Tf> {
  tfModule ??= import('@tensorflow/tfjs');
  return tfModule;
}

async function tryBackend(tf: Tf, name: BackendName, register: () => Promise<unknown>): Promise<boolean> {
  try {
    await register();
    return await tf.setBackend(name);
  } catch {
    // An optional backend that fails to load (not installed, no native binary) just means we try the next one.
    return false;
  }
}

async function choose(): Promise<BackendName> {
  const tf = await loadTf();
  // A variable specifier keeps tsc from resolving a package that is deliberately not a dependency.
  const nodeBackend: string = '@tensorflow/tfjs-node';
  if (await tryBackend(tf, 'tensorflow', () => import(nodeBackend))) return 'tensorflow';
  if (await tryBackend(tf, 'wasm', () => import('@tensorflow/tfjs-backend-wasm'))) return 'wasm';
  if (await tf.setBackend('cpu')) return 'cpu';
  throw new Error('tfjs: no usable backend (tried tensorflow, wasm, cpu)');
}

/** Load tfjs and select the fastest available backend; idempotent, concurrent callers share one initialisation. */
export function initBackend(): Promise<BackendName> {
  ready ??= choose()
    .then(async (name) => {
      await (await loadTf()).ready();
      return name;
    })
    .catch((error: unknown) => {
      // Do not cache a failure: a later call (e.g. after the user installs a backend) should try again.
      ready = undefined;
      throw error;
    });
  return ready;
}
