/** One SQL statement and its positional parameters (`$1`, `$2` …), to run or to embed. */
export interface SqlStatement {
  query: string;
  parameters: unknown[];
}
