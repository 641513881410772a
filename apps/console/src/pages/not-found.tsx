import { Page } from '../components/page.js';
import { EmptyView } from '../components/states.js';
import { Link } from '../lib/router.js';
import { homePath } from '../lib/routes.js';

export function NotFoundPage() {
  return (
    <Page title="Page not found">
      <EmptyView
        title="There is no console page at this address."
        action={<Link to={homePath}>Go to the console's start page</Link>}
      >
        <p>Check the link, or start again from the console's start page.</p>
      </EmptyView>
    </Page>
  );
}
