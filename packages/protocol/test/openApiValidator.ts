import { Ajv2020 } from 'ajv/dist/2020.js'

/** A JSON Schema validator (Ajv, independent of zod) over a document's components. */
export function openApiValidator(document: Record<string, unknown>) {
  const ajv = new Ajv2020({ strict: true, allErrors: false, formats: { uint64: true, uint96: true, uint128: true } })
  ajv.addKeyword('example')
  // The components as `$defs` of one schema (Ajv knows no `components` keyword); the same refs, re-pointed.
  const schemas = (document as { components: { schemas: unknown } }).components.schemas
  ajv.addSchema({ $id: 'openapi', $defs: JSON.parse(JSON.stringify(schemas).replaceAll('"#/components/schemas/', '"#/$defs/')) })
  return (component: string, value: unknown) => {
    const validate = ajv.getSchema(`openapi#/$defs/${component}`)
    if (!validate) throw new Error(`no component ${component}`)
    return validate(value) ? [] : (validate.errors ?? [])
  }
}
