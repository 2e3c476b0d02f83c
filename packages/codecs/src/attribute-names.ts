import type { NotificationAttributes } from './link-format.js';

/** The notification attribute names, as written in queries and link-format. */
export type AttributeName = keyof NotificationAttributes;
export type IntegerAttribute = 'pmin' | 'pmax' | 'epmin' | 'epmax' | 'hqmax';
export type NumberAttribute = 'gt' | 'lt' | 'st';
export type FlagAttribute = 'edge' | 'con';

export const INTEGER_ATTRIBUTES: readonly IntegerAttribute[] = ['pmin', 'pmax', 'epmin', 'epmax', 'hqmax'];
export const NUMBER_ATTRIBUTES: readonly NumberAttribute[] = ['gt', 'lt', 'st'];
export const FLAG_ATTRIBUTES: readonly FlagAttribute[] = ['edge', 'con'];
/** The order Leshan and Anjay write them in (after `dim` and `ver` in link-format). */
export const ATTRIBUTE_ORDER: readonly AttributeName[] = [
  'pmin',
  'pmax',
  'gt',
  'lt',
  'st',
  'epmin',
  'epmax',
  'edge',
  'con',
  'hqmax',
];
