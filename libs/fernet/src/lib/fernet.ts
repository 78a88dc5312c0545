export function fernet(): string {
  return 'fernet';
}
