import { z } from 'zod'
import { engineOptionsSchema, JS_ONLY } from './schema.js'

/**
 * The JSON Schema of a `kvp run --config` file, made from the options schema: what
 * editors use to check `kvp.json` (`"$schema": "./node_modules/kvp/kvp.schema.json"`).
 * A file cannot hold a function, so alternatives only JavaScript can give (a partitioner
 * function) match nothing here; a file may name its own schema with `$schema`.
 */
export function configFileJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(engineOptionsSchema, {
    io: 'input',
    unrepresentable: 'any',
    override: (context) => {
      const meta = z.globalRegistry.get(context.zodSchema as unknown as z.ZodType) as Record<string, unknown> | undefined
      if (meta?.[JS_ONLY] === true) {
        for (const key of Object.keys(context.jsonSchema)) delete (context.jsonSchema as Record<string, unknown>)[key]
        ;(context.jsonSchema as Record<string, unknown>).not = {}
      }
    },
  }) as Record<string, unknown> & { properties: Record<string, unknown> }
  return {
    $schema: schema.$schema,
    title: 'kvp run --config',
    description: 'Options of kvp run (the same as startEngine() takes, without functions).',
    ...schema,
    properties: { $schema: { type: 'string', description: 'The JSON Schema of this file, for editors.' }, ...schema.properties },
  }
}

/** The schema as kvp.schema.json holds it. */
export function configFileJsonSchemaText(): string {
  return `${JSON.stringify(configFileJsonSchema(), null, 2)}\n`
}
