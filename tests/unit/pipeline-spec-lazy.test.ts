// oracx.yaml's stage schemas are built when a file declares their kind, once (the no-change `oracx run` start-up).
import { describe, expect, it } from 'vitest';
import { parsePipeline, STAGE_KINDS, STAGE_SCHEMAS } from '../../pipelines/pipeline-spec.js';

const built = (kind: string) => 'value' in (Object.getOwnPropertyDescriptor(STAGE_SCHEMAS, kind) ?? {});

describe('STAGE_SCHEMAS', () => {
  it('builds only the kinds a file declares, and each once', () => {
    expect(STAGE_KINDS.filter(built)).toEqual([]);
    const spec = parsePipeline('stages:\n  collect:\n    inputs: [a.csv]\n', 'oracx.yaml');
    expect(spec.stages.map((s) => s.kind)).toEqual(['collect']);
    expect(STAGE_KINDS.filter(built)).toEqual(['collect']);
    expect(STAGE_SCHEMAS.collect).toBe(STAGE_SCHEMAS.collect);
    expect(Object.keys(STAGE_SCHEMAS)).toEqual([...STAGE_KINDS]);
    // A kind read for the first time is a complete schema with its defaults.
    expect(STAGE_SCHEMAS.promote.parse({})).toMatchObject({ alias: 'champion', registry: 'auto', 'allow-feature-change': false });
    expect(STAGE_KINDS.filter(built)).toEqual(['collect', 'promote']);
  });
});
