import type { Metadata } from "next";
import { RequireLogin } from "@/components/session";
import { Account } from "./view";

export const metadata: Metadata = { title: "Account" };

export default function Page() {
  return (
    <RequireLogin>
      <Account />
    </RequireLogin>
  );
}
