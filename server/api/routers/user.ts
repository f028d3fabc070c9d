import { z } from "zod";
import { adminProcedure, audited, router } from "../trpc";
import {
  deleteUser,
  insertUser,
  linuxUserSchema,
  listUsers,
  passwordSchema,
  prepareUser,
  ROLES,
  updateUser,
  usernameSchema,
} from "../../core/users";
import { hashPassword } from "../../auth/password";

const runAsSchema = z.array(linuxUserSchema).max(64);

export const userRouter = router({
  /** All console users (never a password or hash). */
  list: adminProcedure.query(({ ctx }) => listUsers(ctx.app.store)),

  /** Creates a console user. */
  create: adminProcedure
    .input(z.strictObject({ username: usernameSchema, password: passwordSchema, role: z.enum(ROLES), runAs: runAsSchema.optional() }))
    .mutation(async ({ ctx, input }) => {
      const row = await prepareUser(input);
      return audited(ctx, { action: "user.create", target: input.username, input, change: (tx) => insertUser(tx, row) });
    }),

  /** Changes a user's role, password or run-as accounts. */
  update: adminProcedure
    .input(
      z.strictObject({
        username: usernameSchema,
        role: z.enum(ROLES).optional(),
        password: passwordSchema.optional(),
        runAs: runAsSchema.optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const passwordHash = input.password ? await hashPassword(input.password) : undefined;
      return audited(ctx, {
        action: "user.update",
        target: input.username,
        input,
        change: (tx) =>
          updateUser(tx, input.username, {
            ...(input.role ? { role: input.role } : {}),
            ...(passwordHash ? { passwordHash } : {}),
            ...(input.runAs ? { runAs: input.runAs } : {}),
          }),
      });
    }),

  /** Deletes a user with its sessions and tokens. */
  delete: adminProcedure.input(z.strictObject({ username: usernameSchema })).mutation(({ ctx, input }) => {
    audited(ctx, { action: "user.delete", target: input.username, input, change: (tx) => deleteUser(tx, input.username) });
    return { ok: true };
  }),
});
