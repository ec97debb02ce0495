/** The greeter's own messages and config section: one definition, typed everywhere from it. */
import { Type, messagesOf, errorsOf } from 'rustyclaw';

export const GreeterConfigSchema = Type.Object(
  {
    greeting: Type.String({ minLength: 1, default: 'Hello' }),
    max_name_length: Type.Integer({ minimum: 1, default: 64 }),
  },
  { additionalProperties: false },
);

export const greeterMessages = messagesOf('system/greeter', {
  'greeter.hello': {
    request: Type.Object({ name: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
    reply: Type.Object({ text: Type.String(), count: Type.Integer() }),
  },
  'greeter.count': {
    request: Type.Object({}, { additionalProperties: false }),
    reply: Type.Object({ count: Type.Integer() }),
  },
});

export const greeterErrors = errorsOf({
  name_too_long: 'the name is longer than greeter.max_name_length',
});
