import { expect, test } from '@jest/globals';
import { ExternalIdTarget } from '../lib';

test('a stack or a module, with access left to the provider unless set', () => {
  expect(ExternalIdTarget.stack('s').toProperties()).toEqual({ StackId: 's' });
  expect(ExternalIdTarget.module('m', { read: true, write: false }).toProperties()).toEqual({
    ModuleId: 'm',
    Read: true,
    Write: false,
  });
  expect(ExternalIdTarget.module('m').projectId).toBe('m');
});

test.each([
  [{ stackId: 'a', moduleId: 'b' }, 'Set exactly one of stackId or moduleId.'],
  [{}, 'Set exactly one of stackId or moduleId.'],
  [{ stackId: 'a', read: false, write: false }, 'a: at least one of read or write must be true.'],
  [{ moduleId: '  ' }, 'moduleId must not be empty'],
])('%j is refused', (props, message) => {
  expect(() => new ExternalIdTarget(props)).toThrow(message);
});
