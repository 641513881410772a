/** The members of a `… WITHSCORES` reply with their scores, in the reply's order. */
export function withScores(reply: string[]): { member: string; score: number }[] {
  const pairs: { member: string; score: number }[] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) {
    pairs.push({ member: reply[i] as string, score: Number(reply[i + 1]) });
  }
  return pairs;
}
