/**
 * How the memory benchmark starts `kvp run`. `image` is how the Docker image starts it
 * (its ENTRYPOINT's node flags and its ENV; test/unit/bench/runtime.test.ts keeps the two
 * in step); `plain` is `node bin/kvp.js` with whatever the environment holds.
 */
export interface Runtime {
  name: 'image' | 'plain'
  /** Flags before the script, as the image's ENTRYPOINT passes them. */
  nodeArgs: string[]
  env: Record<string, string>
  /** One line for the report. */
  title: string
}

export const IMAGE_RUNTIME: Runtime = {
  name: 'image',
  // A V8 young generation of 2 MiB semi-spaces instead of up to 16 (the main thread's only
  // grows under sustained load, so long runs looked bigger than short ones), and two malloc
  // arenas instead of one per thread (librdkafka's threads each fragment their own).
  nodeArgs: ['--max-semi-space-size=2'],
  env: { MALLOC_ARENA_MAX: '2' },
  title: 'as the Docker image runs it (`node --max-semi-space-size=2`, `MALLOC_ARENA_MAX=2`)',
}

export const PLAIN_RUNTIME: Runtime = {
  name: 'plain',
  nodeArgs: [],
  env: {},
  title: 'with plain `node bin/kvp.js` (V8 and glibc defaults)',
}

export const RUNTIMES: readonly Runtime[] = [IMAGE_RUNTIME, PLAIN_RUNTIME]
