// The WebAssembly global and atob, typed here because the project's lib (ES2023, no DOM) declares neither; both exist in Node and browsers.
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { exports: unknown }
}
declare function atob(data: string): string

/**
 * The exports of a module with no imports, from its bytes in base64 (a generated module's `wasmBase64`),
 * compiled synchronously: the kernels are a few kilobytes, which browsers compile on their main thread too.
 */
export function wasmInstance<T>(base64: string): T {
  return new WebAssembly.Instance(new WebAssembly.Module(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))), {}).exports as T
}
