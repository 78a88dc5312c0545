import { NotFoundError } from '../common/domain-errors';

/**
 * The answer for a connection that does not exist, and, word for word, for one a service key
 * may not read: the key learns nothing about connections outside its set.
 */
export function unknownConnection(id: string): NotFoundError {
  return new NotFoundError(`There is no connection ${id}.`);
}
