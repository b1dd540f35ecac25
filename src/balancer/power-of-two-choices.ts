/**
 * Power of two choices (Mitzenmacher 2001, "The power of two choices in randomized load
 * balancing"): draw two distinct available backends at random (in proportion to weight when
 * weights differ) and take the one with fewer in-flight requests per unit of weight,
 * compared by cross-multiplication. Ties keep the first draw.
 */
import { TwoChoices } from "./common/two-choices.js";
import type { AlgorithmInfo, Backend, Balancer, PickContext } from "./types.js";

class PowerOfTwoChoices<B extends Backend> implements Balancer<B> {
  readonly name = "p2c";
  private readonly choices = new TwoChoices<B>();

  update(backends: readonly B[]): void {
    this.choices.update(backends);
  }

  pick(context: PickContext): B | undefined {
    const choices = this.choices;
    if (choices.draw(context.random) < 2) return choices.first;
    const a = choices.first!;
    const b = choices.second!;
    return b.active * a.weight < a.active * b.weight ? b : a;
  }
}

export const powerOfTwoChoices: AlgorithmInfo = {
  name: "p2c",
  description: "power of two choices: of two random backends, fewer in-flight per weight",
  usesKey: false,
  weighted: true,
  create: () => new PowerOfTwoChoices(),
};
