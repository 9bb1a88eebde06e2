/**
 * Helpers for acknowledging cdk-nag findings precisely. cdk-nag v3 names each IAM wildcard
 * finding after the resource it flags, written the way its `flattenCfnReference` writes a
 * CloudFormation value: `Ref` → `<Name>`, `Fn::GetAtt` → `<Name.Attr>`, `Fn::Join` joined,
 * `Fn::ImportValue` → the export name. Acknowledging the exact finding (instead of the rule as a
 * whole) keeps every other wildcard on the same resource an error.
 */
import { Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

function flatten(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof node === 'object' && node !== null) {
    const record = node as Record<string, unknown>;
    if (Array.isArray(record['Fn::Join'])) {
      const [delimiter, items] = record['Fn::Join'] as [string, unknown[]];
      return items.map(flatten).join(delimiter);
    }
    if ('Fn::Sub' in record) return flatten(record['Fn::Sub']);
    if (Array.isArray(record['Fn::GetAtt'])) {
      const [resource, attribute] = record['Fn::GetAtt'] as [unknown, unknown];
      return `<${flatten(resource)}.${flatten(attribute)}>`;
    }
    if ('Fn::ImportValue' in record) return flatten(record['Fn::ImportValue']);
    if ('Ref' in record) return `<${flatten(record.Ref)}>`;
  }
  return JSON.stringify(node);
}

/**
 * How a cdk-nag finding spells `value` (an ARN, possibly with tokens) as used in `scope`'s stack.
 * Only for values built in that stack: a reference to another stack's resource becomes an
 * import only at synthesis, after this runs.
 */
export function nagResource(scope: IConstruct, value: string): string {
  return flatten(Stack.of(scope).resolve(value));
}
