// JSON schemas the admin routes share (validation, and the OpenAPI document generated from them).
export const name = { type: 'string', minLength: 1, maxLength: 256 } as const
export const tenantParams = { type: 'object', required: ['tenant'], properties: { tenant: name } } as const
export const namespaceParams = { type: 'object', required: ['tenant', 'namespace'], properties: { tenant: name, namespace: name } } as const
export const topicParams = { type: 'object', required: ['tenant', 'namespace', 'topic'], properties: { tenant: name, namespace: name, topic: name } } as const
export const subscriptionParams = {
  type: 'object', required: ['tenant', 'namespace', 'topic', 'subscription'], properties: { tenant: name, namespace: name, topic: name, subscription: name }
} as const
export const forceQuery = { type: 'object', properties: { force: { type: 'boolean', default: false } } } as const
export const stringList = { type: 'array', items: { type: 'string' } } as const
export const anyObject = { type: 'object', additionalProperties: true } as const
export const optionalObject = { type: ['object', 'null'], additionalProperties: true } as const
export const messageIdBody = {
  type: 'object',
  properties: { ledgerId: { type: 'number' }, entryId: { type: 'number' }, partitionIndex: { type: 'integer' }, batchIndex: { type: 'integer' } },
  required: ['ledgerId', 'entryId']
} as const
export const noContent = { 204: { type: 'null', description: 'done' } } as const
