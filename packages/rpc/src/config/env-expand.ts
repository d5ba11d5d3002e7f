// go-zero's conf.UseEnv(): the config text goes through Go's os.ExpandEnv before it is parsed.
// "$VAR" and "${VAR}" become the variable's value ("" when unset); "$" followed by one of
// Go's shell-special characters (*#$@!?- or a digit) names that one-character variable;
// "${}" and the "${" of an unclosed brace are dropped; a "$" at the very end stays.

const isSpecial = (c: string): boolean => '*#$@!?-'.includes(c) || (c >= '0' && c <= '9');
const isNameChar = (c: string): boolean => c === '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');

/** Go's getShellName: the variable name after "$" and how many bytes it took. */
function shellName(s: string): [string, number] {
  if (s[0] === '{') {
    if (s.length > 2 && isSpecial(s[1]) && s[2] === '}') return [s[1], 3];
    for (let i = 1; i < s.length; i++) {
      if (s[i] === '}') return i === 1 ? ['', 2] : [s.slice(1, i), i + 1];
    }
    return ['', 1]; // no closing brace: eat the "{"
  }
  if (isSpecial(s[0])) return [s[0], 1];
  let i = 0;
  while (i < s.length && isNameChar(s[i])) i++;
  return [s.slice(0, i), i];
}

/** Go's os.Expand with the environment as the mapping. */
export function expandEnv(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let out = '';
  let i = 0;
  for (let j = 0; j < text.length; j++) {
    if (text[j] === '$' && j + 1 < text.length) {
      out += text.slice(i, j);
      const [name, w] = shellName(text.slice(j + 1));
      if (name === '' && w > 0) {
        // invalid syntax: the characters are eaten
      } else if (name === '') {
        out += text[j]; // "$" not followed by a name: kept
      } else {
        out += env[name] ?? '';
      }
      j += w;
      i = j + 1;
    }
  }
  return out + text.slice(i);
}
