import { fernet } from './fernet';

describe('fernet', () => {
  it('should work', () => {
    expect(fernet()).toEqual('fernet');
  });
});
