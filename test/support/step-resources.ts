/** The deploy steps' resources of a stack, as the tests find them. */
import { TerraformProvider, TerraformResource, TerraformStack } from "cdktf";

/** Every resource of `stack` that is not a provider: in a stack of this library's constructs, the deploy steps' resources. */
export function stepResources(stack: TerraformStack): TerraformResource[] {
  return stack.node.findAll().filter((c): c is TerraformResource => c instanceof TerraformResource && !(c instanceof TerraformProvider));
}
