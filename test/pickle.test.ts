import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PickleError, UnsafePickleError, unpickle, type TorchTensorRef } from '../tools/convert-weights/pickle.ts';
import { ZipArchive } from '../tools/convert-weights/zip.ts';

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

// pickle.dumps({'a': [1, -2, 300, 70000, -70000, 3.5, 2**70, -2**70, None, True, False, 'é✓', (1,2), (), (1,2,3,4)],
//               'k': [[1]]*2}, protocol=p) from CPython 3.11
const PY = {
  2: '80027d71002858010000006171015d7102284b014afeffffff4d2c014a701101004a90eefeff47400c0000000000008a090000000000000000408a090000000000000000c04e88895805000000c3a9e29c9371034b014b0286710429284b014b024b034b047471056558010000006b71065d7107285d71084b0161680865752e',
  4: '8004956c000000000000007d94288c0161945d94284b014afeffffff4d2c014a701101004a90eefeff47400c0000000000008a090000000000000000408a090000000000000000c04e88898c05c3a9e29c93944b014b02869429284b014b024b034b047494658c016b945d94285d944b0161680865752e',
  5: '8005956c000000000000007d94288c0161945d94284b014afeffffff4d2c014a701101004a90eefeff47400c0000000000008a090000000000000000408a090000000000000000c04e88898c05c3a9e29c93944b014b02869429284b014b024b034b047494658c016b945d94285d944b0161680865752e',
};

describe('restricted pickle VM', () => {
  for (const [proto, h] of Object.entries(PY)) {
    it(`decodes plain data pickled by CPython (protocol ${proto})`, () => {
      const v = unpickle(hex(h)) as Map<string, unknown>;
      expect(v).toBeInstanceOf(Map);
      expect(v.get('a')).toEqual([
        1,
        -2,
        300,
        70000,
        -70000,
        3.5,
        2n ** 70n,
        -(2n ** 70n),
        null,
        true,
        false,
        'é✓',
        [1, 2],
        [],
        [1, 2, 3, 4],
      ]);
      const k = v.get('k') as unknown[][];
      expect(k).toEqual([[1], [1]]);
      expect(k[0]).toBe(k[1]); // memo keeps shared references shared
    });
  }

  it('reads bytes (protocol 3 BINBYTES)', () => {
    expect(unpickle(hex('80034302787971002e'))).toEqual(new Uint8Array([0x78, 0x79]));
  });

  it('refuses os.system via GLOBAL, naming it and the weights_only policy', () => {
    // cos\nsystem\n (X'echo pwned' tR. : the classic malicious pickle
    const evil = latin1('\x80\x02cos\nsystem\nq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03.');
    expect(() => unpickle(evil)).toThrow(UnsafePickleError);
    expect(() => unpickle(evil)).toThrow(/"os\.system".*weights_only=True/);
  });

  it('refuses globals named via STACK_GLOBAL (protocol 4) too', () => {
    const evil = latin1('\x80\x04\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94\x8c\x031+1\x94\x85\x94R\x94.');
    expect(() => unpickle(evil)).toThrow(/refused to load the pickled global "builtins\.eval"/);
  });

  it('refuses torch.storage._load_from_bytes and _codecs.encode', () => {
    expect(() => unpickle(latin1('\x80\x02ctorch.storage\n_load_from_bytes\n)R.'))).toThrow(
      /torch\.storage\._load_from_bytes/,
    );
    // protocol 2 pickles bytes via _codecs.encode; not needed for state dicts, so refused
    expect(() =>
      unpickle(
        hex('8002635f636f646563730a656e636f64650a710058020000007879710158060000006c6174696e3171028671035271042e'),
      ),
    ).toThrow(UnsafePickleError);
  });

  it('rejects unknown opcodes, truncation and stack corruption with clear errors', () => {
    expect(() => unpickle(latin1('\x80\x02\xff.'))).toThrow(/unsupported or invalid pickle opcode 0xff/);
    expect(() => unpickle(latin1('\x80\x02X\x10\x00\x00\x00abc'))).toThrow(/truncated pickle data.*BINUNICODE/);
    expect(() => unpickle(latin1('\x80\x02K\x01'))).toThrow(/reached the end without STOP/);
    expect(() => unpickle(latin1('\x80\x02t.'))).toThrow(/MARK missing/);
    expect(() => unpickle(latin1('\x80\x02h\x05.'))).toThrow(/memo key 5 is not defined/);
    expect(() => unpickle(latin1('\x80\x02K\x01K\x02.'))).toThrow(/data left on the stack/);
    expect(() => unpickle(latin1('\x80\x02K\x01)R.'))).toThrow(PickleError);
  });

  it('decodes the state dict in a real torch.save checkpoint into lazy tensor references', () => {
    const zip = new ZipArchive(new Uint8Array(readFileSync('test/fixtures/adm-tiny/model.pt')));
    const sd = unpickle(zip.read('model/data.pkl')) as Map<string, TorchTensorRef>;
    expect(sd.size).toBe(198);
    const w = sd.get('input_blocks.0.0.weight')!;
    expect(w.kind).toBe('tensor');
    expect(w.shape).toEqual([32, 3, 3, 3]);
    expect(w.stride).toEqual([27, 9, 3, 1]);
    expect(w.storage).toMatchObject({ kind: 'storage', dtype: 'float32', key: '4', location: 'cpu', numel: 864 });
  });
});
