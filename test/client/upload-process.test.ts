import { describe, expect, it } from 'vitest';
import { WASM_TIERING_BUDGET, wasmBudgetFlag } from '../../client/upload-process.js';

describe('upload process tuning', () => {
  it('keeps later WASM on baseline code unless the process chose its own budget', () => {
    expect(wasmBudgetFlag([])).toBe(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`);
    expect(wasmBudgetFlag(['--enable-source-maps'])).toBe(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`);
    expect(wasmBudgetFlag(['--wasm-tiering-budget=1800000'])).toBeUndefined();
    expect(wasmBudgetFlag(['--wasm_tiering_budget=5'])).toBeUndefined();
  });
});
