/** `.wasm` imports are compiled modules in workerd (and in Worker bundles built by wrangler). */
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}

/** The bindings object of workerd (typed where used: this suite declares its own Env). */
declare module 'cloudflare:workers' {
  export const env: unknown;
}
