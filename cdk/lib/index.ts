export * from './common';
export * from './target';
export * from './integration-base';
export * from './integration';
export * from './lookup';
export * from './attachment';
export * from './external-id';
export * from './provider';
