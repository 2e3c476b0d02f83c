import { parseRegistrationLinks } from '@lwm2m/codecs';
import type { RegisteredObject } from '@lwm2m/codecs';
import type { Registration } from './registration.js';

/** The objects (version, instances) a registration announced, parsed from its object links. */
export function registrationObjects(registration: Registration): ReadonlyMap<number, RegisteredObject> {
  // Validated when the registration was made, so this does not throw for stored registrations.
  return parseRegistrationLinks(registration.objectLinks).objects;
}
