// Random edits of a text for fuzz tests: one to three characters replaced, removed or inserted,
// drawn from `alphabet` (the characters that matter to the parser under test).
export function mutateText(rand: () => number, text: string, alphabet: readonly string[]): string {
  const chars = [...text];
  const pick = () => alphabet[Math.floor(rand() * alphabet.length)]!;
  for (let m = 0; m < 1 + Math.floor(rand() * 3); m++) {
    const at = Math.floor(rand() * chars.length);
    const op = rand();
    if (op < 0.4) chars[at] = pick();
    else if (op < 0.7) chars.splice(at, 1);
    else chars.splice(at, 0, pick());
  }
  return chars.join("");
}
